from keras_jax_scaffold.cli import main

main()
