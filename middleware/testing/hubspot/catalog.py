"""Property and pipeline routes of the HubSpot emulator: ``GET
/crm/v3/properties/deals/{propertyName}``, ``GET /crm/v3/pipelines/deals`` and ``GET
/crm/v3/pipelines/deals/{pipelineId}`` (crm-webhooks-and-apis.md §1.7)."""

from __future__ import annotations

from middleware.testing.hubspot.model import Pipeline, PropertyDefinition
from middleware.testing.hubspot.state import EmulatorState
from middleware.testing.hubspot.wire import ApiError, JsonDict, Request, Response


class CatalogRoutes(EmulatorState):
    """Deal property definitions (their options reflect the current state) and pipelines."""

    def _get_deal_property(self, request: Request, name: str) -> Response:
        definition = self._deal_properties.get(name)
        if definition is None:
            raise ApiError(
                404,
                f"Unable to find property {name} for object type 0-3",
                "OBJECT_NOT_FOUND",
                context={"propertyName": [name]},
            )
        return Response(200, self._property_json(definition))

    def _list_pipelines(self, request: Request) -> Response:
        pipelines = sorted(self._pipelines.values(), key=lambda p: p.display_order)
        return Response(200, {"results": [self._pipeline_json(p) for p in pipelines]})

    def _get_pipeline(self, request: Request, pipeline_id: str) -> Response:
        pipeline = self._pipelines.get(pipeline_id)
        if pipeline is None:
            raise ApiError(
                404,
                f"Unable to find pipeline {pipeline_id}",
                "OBJECT_NOT_FOUND",
                context={"pipelineId": [pipeline_id]},
            )
        return Response(200, self._pipeline_json(pipeline))

    def _property_json(self, definition: PropertyDefinition) -> JsonDict:
        return {
            "name": definition.name,
            "label": definition.label,
            "type": definition.type,
            "fieldType": definition.field_type,
            "description": "",
            "groupName": "dealinformation",
            "options": self._property_options(definition),
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": definition.name in ("dealstage", "pipeline", "hubspot_owner_id"),
            "hasUniqueValue": False,
            "hidden": False,
            "hubspotDefined": definition.hubspot_defined,
            "modificationMetadata": {
                "archivable": not definition.hubspot_defined,
                "readOnlyDefinition": definition.hubspot_defined,
                "readOnlyValue": definition.read_only,
            },
            "formField": not definition.read_only,
            "dataSensitivity": "non_sensitive",
            "archived": False,
        }

    def _property_options(self, definition: PropertyDefinition) -> list[JsonDict]:
        """Enumeration options; the stage, pipeline and owner ones reflect the current state."""
        if definition.name == "dealstage":
            pairs = [(s.id, s.label) for p in self._pipelines.values() for s in p.stages]
        elif definition.name == "pipeline":
            pairs = [(p.id, p.label) for p in self._pipelines.values()]
        elif definition.name == "hubspot_owner_id":
            pairs = [
                (o.id, f"{o.first_name} {o.last_name}".strip())
                for o in self._owners.values()
                if not o.archived
            ]
        else:
            pairs = list(definition.options)
        return [
            {"label": label, "value": value, "displayOrder": i, "hidden": False}
            for i, (value, label) in enumerate(pairs)
        ]

    def _pipeline_json(self, pipeline: Pipeline) -> JsonDict:
        return {
            "id": pipeline.id,
            "label": pipeline.label,
            "displayOrder": pipeline.display_order,
            "archived": False,
            "stages": [
                {
                    "id": stage.id,
                    "label": stage.label,
                    "displayOrder": stage.display_order,
                    "metadata": {
                        "isClosed": "true" if stage.is_closed else "false",
                        "probability": stage.probability,
                    },
                    "archived": False,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
                for stage in pipeline.stages
            ],
        }
