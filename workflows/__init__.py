"""LangGraph workflows built from vagent's core nodes (package ``vagent_workflows``)."""
