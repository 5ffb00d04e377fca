"""Kernel templates: real modules (importable and linted against :mod:`tgsim.engine.kernels.stub`)
whose text :mod:`tgsim.engine.compile` assembles, per card and job, into the compiled modules."""
