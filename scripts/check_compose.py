#!/usr/bin/env python3
"""Checks docker-compose.yml without a Docker engine: valid YAML, the services operators rely on,
health checks, the start-up order (migrate before api and worker), named volumes, and Redis with
AOF on. Exits non-zero with a message naming what is wrong."""
import sys

try:
    import yaml  # PyYAML
except ImportError:  # a fresh machine: install it for this user only
    import subprocess
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--user", "pyyaml"])
    import site, importlib
    sys.path.append(site.getusersitepackages())
    importlib.invalidate_caches()
    import yaml


def fail(msg):
    print(f"docker-compose.yml: {msg}", file=sys.stderr)
    sys.exit(1)


path = sys.argv[1] if len(sys.argv) > 1 else "docker-compose.yml"
with open(path) as f:
    doc = yaml.safe_load(f)
services = doc.get("services") or fail("no services")
for name in ("postgres", "redis", "migrate", "api", "worker"):
    if name not in services:
        fail(f"service '{name}' is missing")
for name in ("postgres", "redis", "api", "worker"):
    if "healthcheck" not in services[name]:
        fail(f"service '{name}' has no healthcheck")
for name in ("api", "worker"):
    deps = services[name].get("depends_on") or {}
    if deps.get("migrate", {}).get("condition") != "service_completed_successfully":
        fail(f"'{name}' must wait for migrate to complete")
    for dep in ("postgres", "redis"):
        if deps.get(dep, {}).get("condition") != "service_healthy":
            fail(f"'{name}' must wait for {dep} to be healthy")
    if "container_name" in services[name]:
        fail(f"'{name}' sets container_name, which prevents --scale")
redis_cmd = " ".join(map(str, services["redis"].get("command", [])))
if "--appendonly yes" not in redis_cmd:
    fail("redis must run with --appendonly yes")
volumes = doc.get("volumes") or {}
for vol in ("pgdata", "redisdata"):
    if vol not in volumes:
        fail(f"named volume '{vol}' is missing")
print(f"{path}: ok ({len(services)} services)")
