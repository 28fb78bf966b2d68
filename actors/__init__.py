"""Ray actors of the live path: the session hosts (each holding thousands of assessment sessions), the
registry that places and supervises them, and joining or starting the cluster they run on."""
