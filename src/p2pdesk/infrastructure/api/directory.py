"""Team and agent endpoints: managed by admins and team leads, readable by every role."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.application.errors import NotFound
from p2pdesk.application.use_cases.manage_agents import CreateAgent, UpdateAgent
from p2pdesk.application.use_cases.manage_teams import CreateTeam, DeleteTeam, UpdateTeam
from p2pdesk.infrastructure.api.auth import HasDeskRole, principal_of
from p2pdesk.infrastructure.api.paging import PAGING_PARAMETERS, page_params, paged_response, paged_schema
from p2pdesk.infrastructure.api.strict import StrictSerializer


class TeamOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    timezone = serializers.CharField()
    is_active = serializers.BooleanField()


class TeamInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True, required=False, max_length=10_000)
    timezone = serializers.CharField(max_length=64, required=False)
    is_active = serializers.BooleanField(required=False)


def _team(team_id: int) -> Response:
    view = bootstrap.desk().team_queries.get(team_id)
    if view is None:
        raise NotFound(f"team {team_id} does not exist")
    return Response(TeamOutput(view).data)


class TeamListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(parameters=PAGING_PARAMETERS, responses=paged_schema(TeamOutput, "PagedTeams"))
    def get(self, request: Request) -> Response:
        cursor, limit = page_params(request)
        page = bootstrap.desk().team_queries.list(cursor=cursor, limit=limit)
        return paged_response(request, page, lambda rows: TeamOutput(rows, many=True).data)

    @extend_schema(request=TeamInput, responses={201: TeamOutput})
    def post(self, request: Request) -> Response:
        body = TeamInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        team_id = bootstrap.desk().teams.create(
            CreateTeam(
                name=data["name"],
                description=data.get("description", ""),
                timezone=data.get("timezone"),
                is_active=data.get("is_active", True),
            ),
            principal_of(request),
        )
        response = _team(team_id)
        response.status_code = status.HTTP_201_CREATED
        return response


class TeamDetailView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=TeamOutput)
    def get(self, request: Request, team_id: int) -> Response:
        return _team(team_id)

    @extend_schema(request=TeamInput(partial=True), responses=TeamOutput)
    def patch(self, request: Request, team_id: int) -> Response:
        body = TeamInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        bootstrap.desk().teams.update(
            UpdateTeam(
                team_id=team_id,
                name=data.get("name"),
                description=data.get("description"),
                timezone=data.get("timezone"),
                is_active=data.get("is_active"),
            ),
            principal_of(request),
        )
        return _team(team_id)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "move_to", int, description="team that takes over the deleted team's active tickets"
            )
        ],
        responses={204: None},
    )
    def delete(self, request: Request, team_id: int) -> Response:
        query = MoveToQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        bootstrap.desk().teams.delete(
            DeleteTeam(team_id=team_id, move_open_tickets_to=query.validated_data.get("move_to")),
            principal_of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MoveToQuery(serializers.Serializer):
    move_to = serializers.IntegerField(min_value=1, required=False)


class AgentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    teams = serializers.ListField(child=serializers.IntegerField())
    is_active = serializers.BooleanField()
    tickets_assigned_today = serializers.IntegerField()
    tickets_resolved_today = serializers.IntegerField()
    total_tickets_assigned = serializers.IntegerField()
    total_tickets_resolved = serializers.IntegerField()


class AgentInput(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200)
    teams = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=200, default=list)
    is_active = serializers.BooleanField(required=False)


def _agent(agent_id: int) -> Response:
    view = bootstrap.desk().agent_queries.get(agent_id)
    if view is None:
        raise NotFound(f"agent {agent_id} does not exist")
    return Response(AgentOutput(view).data)


class AgentListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(
        parameters=[
            OpenApiParameter("team", int),
            OpenApiParameter("is_active", bool),
            OpenApiParameter("email", str),
            *PAGING_PARAMETERS,
        ],
        responses=paged_schema(AgentOutput, "PagedAgents"),
    )
    def get(self, request: Request) -> Response:
        cursor, limit = page_params(request)
        page = bootstrap.desk().agent_queries.list(request.query_params, cursor=cursor, limit=limit)
        return paged_response(request, page, lambda rows: AgentOutput(rows, many=True).data)

    @extend_schema(request=AgentInput, responses={201: AgentOutput})
    def post(self, request: Request) -> Response:
        body = AgentInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        agent_id = bootstrap.desk().agents.create(
            CreateAgent(
                email=data["email"],
                name=data["name"],
                team_ids=data["teams"],
                is_active=data.get("is_active", True),
            ),
            principal_of(request),
        )
        response = _agent(agent_id)
        response.status_code = status.HTTP_201_CREATED
        return response


class AgentDetailView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=AgentOutput)
    def get(self, request: Request, agent_id: int) -> Response:
        return _agent(agent_id)

    @extend_schema(request=AgentInput(partial=True), responses=AgentOutput)
    def patch(self, request: Request, agent_id: int) -> Response:
        body = AgentInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        bootstrap.desk().agents.update(
            UpdateAgent(
                agent_id=agent_id,
                email=data.get("email"),
                name=data.get("name"),
                team_ids=data.get("teams"),
                is_active=data.get("is_active"),
            ),
            principal_of(request),
        )
        return _agent(agent_id)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, agent_id: int) -> Response:
        bootstrap.desk().agents.delete(agent_id, principal_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
