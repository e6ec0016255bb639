"""Family readers, one module per family group; ``kvplan.hf.registry`` maps model_types to them.

A reader takes an ``HFConfig`` (the config with its transformers class defaults) and returns
the spec fields it knows. Every key it asks for counts as understood; keys its configs carry
that it deliberately does not use go in its ``Family.ignored`` with the reason in a comment.
"""
