"""Wall time of the default main job, `python -m sim configs/merged.yaml`, against
the 30 s target on 2 CPU cores (DESIGN §10). Last line: `main_job_vs_30s_target=<ratio>`
(below 1.0 meets the target).

    python bench/main_job.py
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

with tempfile.TemporaryDirectory() as out:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "configs/merged.yaml", "--out", out, "--quiet"], cwd=ROOT,
                   check=True)
    wall = time.perf_counter() - t0
print(f"python -m sim configs/merged.yaml: {wall:.1f} s on {os.cpu_count()} cores")
print(f"main_job_vs_30s_target={wall / 30:.2f}")
