// Finds the Python interpreter that has PyTorch and ONNX (Debian's /usr/bin/python3 on these
// machines; a pyenv or venv python3 earlier on PATH often lacks them).
import { spawnSync } from 'node:child_process';

const CANDIDATES = [process.env.CASPO_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);

let cached;

export function findTorchPython() {
  if (cached !== undefined) return cached;
  for (const candidate of CANDIDATES) {
    const probe = spawnSync(candidate, ['-c', 'import torch, onnx'], { stdio: 'ignore' });
    if (probe.status === 0) return (cached = candidate);
  }
  cached = null;
  return cached;
}

export function resetTorchPythonCache() {
  cached = undefined;
}

export function requireTorchPython() {
  const python = findTorchPython();
  if (!python) {
    throw new Error(
      `No Python with PyTorch and ONNX found (tried ${CANDIDATES.join(', ')}). ` +
        'Install them with `.ci/install-system-deps` (Debian: apt-get install python3-torch python3-onnx ' +
        'python3-numpy python3-pytest libopenblas0-pthread), or set CASPO_PYTHON to such an interpreter.',
    );
  }
  return python;
}
