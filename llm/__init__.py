"""The language model as the rest of the project sees it: an OpenAI-compatible chat client, the item-writing
prompts, the checks a written item must pass, and near-duplicate detection. The graphs that use a model
(item generation, the chat) and the generator service above them import it; it imports neither."""
