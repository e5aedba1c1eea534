"""The front door: TARGET -> factory, the request that builds once, the homework's names."""
