"""Conforming unified execution interfaces: ``ExecutionInterface``."""

from __future__ import annotations

from typing import Any

from execproto.protocols import ExecutionInterface


class ThirdPartyEngine:
    """Never imports a base class, so it must define ``register_executor`` itself."""

    def __init__(self) -> None:
        self.executors: dict[str, Any] = {}

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        return operation_spec

    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        return task_name

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return list(operations)

    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
        return list(tasks)

    def register_executor(self, executor_type: str, executor_instance: Any) -> None:
        self.executors[executor_type] = executor_instance


class SubclassEngine(ExecutionInterface):
    """Chooses to inherit; defines ``register_executor`` too (see the note in fail/)."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        return None

    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        raise LookupError(task_name)

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return []

    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
        return []

    def register_executor(self, executor_type: str, executor_instance: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} runs every operation itself")


third_party: ExecutionInterface = ThirdPartyEngine()
subclass: ExecutionInterface = SubclassEngine()


async def run(engine: ExecutionInterface) -> list[Any]:
    await engine.execute_task("summarise", {"text": "..."}, {"user_id": "u"})
    return await engine.batch_execute_tasks([{"task_name": "summarise"}])


def make_engine() -> ExecutionInterface:
    return ThirdPartyEngine()


run(ThirdPartyEngine()).close()
run(SubclassEngine()).close()
engines: list[ExecutionInterface] = [ThirdPartyEngine(), SubclassEngine(), make_engine()]
