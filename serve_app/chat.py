"""/ws/chat: the candidate's assistant over the same protocol (`chat_message` in, `chat_response` out)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from domain.errors import Refused
from serve_app.connection import ProtocolConnection
from wire import protocol

router = APIRouter()


class ChatConnection(ProtocolConnection):
    endpoint = "chat"

    async def on_connect(self) -> None:
        await self.send_auth_success()

    async def on_message(self, request: protocol.AnyClientMessage) -> None:
        if not isinstance(request, protocol.ChatMessage):
            raise Refused("unknown_type", f"{request.type} belongs on /ws/assessment")
        answer = await self.state.chat.ainvoke({"user_id": self.user.id, "message": request.content})
        await self.send(protocol.ChatResponse(content=answer["reply"]).frame())


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    await ChatConnection(websocket, websocket.app.state.replica).run()
