export { Badge, type Tone } from "./components/Badge";
export { Button, type ButtonProps } from "./components/Button";
export { Card } from "./components/Card";
export { ChartFrame } from "./components/ChartFrame";
export { EmptyState } from "./components/EmptyState";
export { ErrorBanner, type FieldError } from "./components/ErrorBanner";
export { Stat } from "./components/Stat";
export { Table, type Column } from "./components/Table";
export { chartColor, themeCss, tokens } from "./tokens";
