"""One workflow: interfaces in workflow_interface.py, Impl classes in workflow.py."""
