import PMTrace
