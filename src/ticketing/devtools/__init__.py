"""Local development aids: broker launcher, demo data, process supervisor. Never imported by production code."""
