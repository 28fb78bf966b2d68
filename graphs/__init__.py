"""LangGraph graphs: the live assessment step (grade, select the next question, commit), the
question-generation graph, and the recruiters' chat."""
