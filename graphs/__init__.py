"""LangGraph graphs: the live assessment graph and the question-generation graph (issues 3 and 6)."""
