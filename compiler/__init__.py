"""The compiler: model files -> hls4ml ModelGraph -> HLS project, checked by C-simulation."""
