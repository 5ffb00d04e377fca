"""Kernel templates: real modules (importable and linted against :mod:`tgsim._kernels.stub`)
whose text :mod:`tgsim.compile` assembles, per card and job, into the compiled modules."""
