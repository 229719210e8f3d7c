// ingot-run: the lean runner; links only IngotRuntime (no Foundation, no compiler).
import IngotRuntime
print("ingot-run")
