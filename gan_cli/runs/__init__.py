"""Run directories: their file layout (the only owner of file names), checkpoints, images, plots, the progress
GIF, TensorBoard logs and portable model export."""
