"""The stack: images, containers, networks and TLS of one run, the clients of the services,
the platform targets, every resource labelled and removed."""
