"""The orchestrator of the agent mesh: plan -> resolve -> execute -> synthesize, streamed."""
