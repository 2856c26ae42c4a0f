"""The HTTP layer: thin routes over ``qa_service.services``."""
