"""Conv and transposed-conv shape equations, their solutions, model mode over two builds."""
