"""Find the system programs the local infrastructure runs, installing them with apt-get as root.

Examples
--------
>>> java_major_version('openjdk version "17.0.15" 2025-04-15')
17
>>> java_major_version('java version "1.8.0_292"')
8
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .exceptions import InfraError, MissingToolError

MIN_JAVA = 17


@dataclass(frozen=True)
class Tool:
    """A program and the Debian package that provides it."""

    command: str
    apt_package: str


JAVA = Tool("java", "openjdk-17-jre-headless")
MAVEN = Tool("mvn", "maven")
REDIS = Tool("redis-server", "redis-server")


def _can_apt_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None and Path("/etc/debian_version").exists()


def require(tool: Tool, log=print) -> str:
    """The path of `tool`, installing its package first when we are root on Debian or Ubuntu."""
    found = shutil.which(tool.command)
    if found:
        return found
    if not _can_apt_install():
        raise MissingToolError(
            f"{tool.command} not found; install it with: sudo apt-get install -y {tool.apt_package}"
        )
    log(f"{tool.command} not found: installing {tool.apt_package} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", tool.apt_package]):
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise MissingToolError(f"{' '.join(args)} failed: {tail[0]}")
    found = shutil.which(tool.command)
    if not found:
        raise MissingToolError(f"{tool.apt_package} was installed but {tool.command} is still not on PATH")
    return found


def java_major_version(version_output: str) -> int:
    """The major version in the text `java -version` prints."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        raise InfraError(f"cannot read the Java version from: {version_output.strip()[:120]}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def require_java(log=print) -> str:
    """The path of a Java 17+ runtime."""
    java = require(JAVA, log)
    out = subprocess.run([java, "-version"], capture_output=True, text=True)
    major = java_major_version(out.stderr + out.stdout)
    if major < MIN_JAVA:
        raise MissingToolError(
            f"Kafka 4 needs Java {MIN_JAVA}+, found Java {major} at {java}; "
            f"install it with: sudo apt-get install -y {JAVA.apt_package}"
        )
    return java
