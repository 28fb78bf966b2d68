"""The `assess` command line (Typer and Rich)."""
