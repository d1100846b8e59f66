"""AgentDojo through the real server: the benchmark's tasks, environments and checks, with Airlock
between the application and the model.

* ``cases``    — suites, user × injection tasks, injections built the way the attack builds them.
* ``app``      — the application: sends the prompt through the official ``openai`` client, runs the
  tool calls Airlock returns against the task's environment, scores with AgentDojo's checks.
* ``oracle``   — the offline model: a real HTTP server answering the planner with one program file
  per task, the quarantined reader honestly or as the attacker wants, and (single-LLM) an agent
  that obeys every injection it reads.
* ``runner``   — starts the upstream and an Airlock server (or targets one), runs configurations.
* ``report``   — counts, the JSON layout and the Markdown table.
"""

AGENTDOJO_VERSION = "0.1.35"
BENCHMARK_VERSION = "v1.2"
