"""Real servers on loopback that the tests (and bench/) start themselves: nginx, an HF-Hub-compatible
server, and a fault-injecting proxy. Nothing here talks to any other address."""
