"""CoT sharing between the processes of one deployment: in-process, NATS."""
