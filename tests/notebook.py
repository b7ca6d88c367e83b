"""Execute a notebook with nbclient in the current folder; fail (exit 1)
naming the cell when any cell fails. Usage: notebook.py NOTEBOOK [OUT]
(OUT: where to keep the executed notebook, with its outputs)."""
import sys

import nbclient
import nbformat

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "."}})
try:
    client.execute()
except nbclient.exceptions.CellExecutionError as e:
    print(f"notebook {path}: a cell failed:\n{e}", file=sys.stderr)
    sys.exit(1)
finally:
    if len(sys.argv) > 2:
        nbformat.write(nb, sys.argv[2])
print(f"notebook {path}: {len(nb.cells)} cells ran")
