"""LLM question generation: the model client, prompts, item-writing checks and the generator service."""
