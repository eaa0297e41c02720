from ninja import Router

router = Router(tags=["服务阵地 sites"])
