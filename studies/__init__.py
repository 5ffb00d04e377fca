"""Applications built on tgsim's public API, run from a source checkout.

- :mod:`studies.validation`: reproductions of published analyses on real data
  (``tgsim run experiments/reproduce_*.toml``);
- :mod:`studies.metastasis`: the metastasis studies (``tgsim run
  experiments/adjuvant_therapy.toml`` and friends);
- :mod:`studies.gallery`: the figure gallery (``tgsim gallery``).

They are not part of the installed package: clone the repository to run them.
"""
