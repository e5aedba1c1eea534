"""Conv and transposed-conv shape equations, their solutions, and model mode over two given builds."""
