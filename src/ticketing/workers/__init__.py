"""Background processes; each exposes tick() (one unit of work) and run()."""
