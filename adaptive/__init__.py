"""The adaptive-testing core: item response models, ability estimation, item selection and stopping.

Pure and seeded: no Ray, no database, no LangGraph. Every function works on one candidate or on an array
of candidates at once (NumPy), so the live graph and the batch simulator call the same code.
"""
