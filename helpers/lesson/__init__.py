"""The code the notebooks teach, exported from their ``#| export`` cells by
``python -m helpers.export`` (one module per notebook; see ``helpers/export.py``).

Do not edit these modules: edit the notebook cell and export again. ``tests/test_lesson.py``
fails while a module differs from its notebook.

- ``features``: notebook 03 (a frozen backbone's output stored once per view, the member put back
  together);
- ``combiners``: notebook 05 (log-loss, combiners, the weighted-average layer, cross-fitting,
  temperature scaling);
- ``judging``: notebook 06 (ECE, paired bootstrap, McNemar);
- ``corruptions``: notebook 07 (ImageNet-C corruptions, scoring under shift);
- ``distillation``: notebook 08 (the distillation loss);
- ``families``: notebook 09 (snapshots, MC dropout, test-time augmentation, the ambiguity
  decomposition).
"""
