"""The cell's inputs: the plugin under test (a checkout, a git ref, a mutant or variant), the
Codex version and userland, the platform spec, the deviation manifests, checked fast."""
