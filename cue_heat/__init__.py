"""cue-heat: message-broker clusters provisioned as OpenStack Heat stacks."""
