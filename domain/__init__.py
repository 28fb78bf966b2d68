"""Domain vocabulary shared by every layer: states, roles, rules and the few domain exceptions."""
