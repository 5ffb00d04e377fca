"""The engine layer: model cards in, compiled kernels out.

=======================  ================================================================
:mod:`.catalogue`        read and check TOML model cards; list the built-in ones
:mod:`.expr`             whitelist expression parser, symbolic derivatives, CSE
:mod:`.logform`          log-state form of a card (positive states stepped as logs)
:mod:`.compile`          code generation: one kernel module per card and job, cached
:mod:`.kernels`          job templates, card-independent helpers, row dispatch, cache
=======================  ================================================================

Kernels take contiguous float64 arrays and scalars and write in place; the job packages
(:mod:`tgsim.simulation`, :mod:`tgsim.fitting`, :mod:`tgsim.metastasis`) label what they
return. See ``ARCHITECTURE.md``.
"""
