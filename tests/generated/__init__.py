"""Generated modules train exactly: parity with Keras's built-in steps (one and several
inputs/outputs), recipes against their Keras oracles, examples, metric names, the loss
catalog, Keras's own test files."""
