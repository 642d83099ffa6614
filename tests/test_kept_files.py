"""``artifacts.fingerprints`` and ``changed_since``: what the solutions notebooks use to show that
an exercise never overwrites the run's members, predictions or results."""

from helpers import artifacts


def test_changed_since_names_every_changed_added_and_removed_file(smoke_settings):
    run_dir = smoke_settings.run_dir
    for name in ("models/custom_cnn.keras", "predictions/custom_cnn.npz", "results.json",
                 "split.csv", "figures/curves.png"):
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_text(name)
    kept = artifacts.fingerprints(smoke_settings)
    assert "figures/curves.png" not in kept and len(kept) == 4
    assert artifacts.changed_since(smoke_settings, kept) == []

    (run_dir / "models/custom_cnn.keras").write_text("retrained")
    (run_dir / "models/variant.keras").write_text("a variant saved among the members")
    (run_dir / "predictions/custom_cnn.npz").unlink()
    (run_dir / "figures/curves.png").write_text("figures may change")
    assert artifacts.changed_since(smoke_settings, kept) == [
        "models/custom_cnn.keras", "models/variant.keras", "predictions/custom_cnn.npz"]
