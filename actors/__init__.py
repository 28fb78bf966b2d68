"""Ray actors: the cluster connection now; the session hosts and the registry of the live path next."""
