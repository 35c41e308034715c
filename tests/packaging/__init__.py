"""What ships and how it is laid out: the wheel, the layers of the package, the README as
the package index page, the pinned development tools."""
