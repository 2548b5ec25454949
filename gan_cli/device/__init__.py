"""The device: precision, XLA, tf.distribute strategies, and measurements cached per device."""
