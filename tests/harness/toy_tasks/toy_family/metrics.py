def metrics(results):
    exact = [bool(r["details"].get("exact")) for r in results]
    return {"exact_rate": sum(exact) / len(exact) if exact else 0.0}
