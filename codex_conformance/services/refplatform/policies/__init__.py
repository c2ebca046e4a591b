"""Policy data (YAML); a package only so setuptools ships the files as package data."""
