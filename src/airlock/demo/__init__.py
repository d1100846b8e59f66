"""``airlock demo``: an offline walkthrough of dual-LLM mode against a recorded provider."""
