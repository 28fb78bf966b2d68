"""LLM question generation: the generator service (the generation graph run, stored and indexed), items
prepared ahead for live sessions, and the model endpoint a deployment is configured with."""
